//! libp2p identities (Ed25519, RSA and secp256k1 keys are checked; new ones are Ed25519) and cluster secrets.

use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use libp2p_identity::{Keypair, PeerId};

use crate::error::{Error, Result};

/// A peer identity as the daemons store it: the peer ID text and the base64 protobuf private key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Identity {
    /// The peer ID (`12D3KooW…`).
    pub peer_id: String,
    /// base64 (standard, padded) of the libp2p `PrivateKey` protobuf.
    pub private_key: String,
}

impl Identity {
    /// A fresh Ed25519 identity from the OS random source.
    pub fn generate() -> Result<Identity> {
        let kp = Keypair::generate_ed25519();
        let pb = kp
            .to_protobuf_encoding()
            .map_err(|e| Error::Unsupported(e.to_string()))?;
        Ok(Identity {
            peer_id: kp.public().to_peer_id().to_base58(),
            private_key: STANDARD.encode(pb),
        })
    }
}

/// Derives the peer ID from a base64 protobuf private key (Ed25519, RSA or secp256k1; ECDSA is refused).
pub fn peer_id_of_private_key(private_key_b64: &str) -> std::result::Result<PeerId, String> {
    let bytes = STANDARD
        .decode(private_key_b64.trim())
        .map_err(|e| format!("not base64: {e}"))?;
    // protobuf field 1 (KeyType) = 0 RSA, 1 Ed25519, 2 secp256k1, 3 ECDSA
    if bytes.len() >= 2 && bytes[0] == 0x08 && bytes[1] > 0x02 {
        return Err(format!(
            "key type {} is not supported here (only Ed25519, RSA and secp256k1)",
            bytes[1]
        ));
    }
    let kp = Keypair::from_protobuf_encoding(&bytes)
        .map_err(|e| format!("not a libp2p private key: {e}"))?;
    Ok(kp.public().to_peer_id())
}

/// Checks that `peer_id` parses and is the one derived from `private_key_b64`.
pub fn check_identity(peer_id: &str, private_key_b64: &str) -> std::result::Result<(), String> {
    let claimed = PeerId::from_str(peer_id)
        .map_err(|e| format!("peer ID {peer_id:?} does not parse: {e}"))?;
    let derived = peer_id_of_private_key(private_key_b64)?;
    if claimed != derived {
        return Err(format!(
            "peer ID {peer_id} does not match its private key (which gives {derived})"
        ));
    }
    Ok(())
}

/// A fresh random 32-byte cluster secret as 64 lowercase hex characters.
pub fn generate_cluster_secret() -> Result<String> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| Error::Random(e.to_string()))?;
    Ok(hex::encode(b))
}

/// Whether `s` is a valid cluster secret: 64 hex characters, or empty (no private network).
pub fn is_valid_cluster_secret(s: &str) -> bool {
    s.is_empty() || (s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
}
