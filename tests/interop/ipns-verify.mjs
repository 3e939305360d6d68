// Validate an IPNS record written by ipfs-kit with the npm `ipns` package (the JS IPNS
// implementation): unmarshal it, run its validator for the name we computed (V2 signature over
// "ipns-signature:" + data, validity, V1/V2 field agreement), and check the V1 signature with
// @libp2p/crypto. Prints one JSON object; exits non-zero when the record is refused.
// With `create`, it signs a record itself from the same inputs and prints it (base64), so a
// test can compare it byte for byte with ours.
//
// usage: node ipns-verify.mjs <record-file> <ipns-name k51…>
//        node ipns-verify.mjs create <private-key-protobuf-file> <value> <seq> <validity> <ttl-ns> <v1:true|false>
import { readFile } from 'node:fs/promises'
import { createIPNSRecordWithExpiration, marshalIPNSRecord, unmarshalIPNSRecord, multihashToIPNSRoutingKey } from 'ipns'
import { ipnsValidator } from 'ipns/validator'
import { privateKeyFromProtobuf, publicKeyFromMultihash } from '@libp2p/crypto/keys'
import { CID } from 'multiformats/cid'
import { base36 } from 'multiformats/bases/base36'

// The length-delimited fields of a protobuf message, by field number (last one wins).
function protobufFields (buf) {
  const fields = {}
  let pos = 0
  const varint = () => {
    let v = 0n
    let shift = 0n
    for (;;) {
      const b = buf[pos++]
      if (b === undefined) throw new Error('truncated varint')
      v |= BigInt(b & 0x7f) << shift
      if ((b & 0x80) === 0) return v
      shift += 7n
    }
  }
  while (pos < buf.length) {
    const tag = varint()
    const field = Number(tag >> 3n)
    const wire = Number(tag & 7n)
    if (wire === 0) varint()
    else if (wire === 2) {
      const len = Number(varint())
      fields[field] = buf.subarray(pos, pos + len)
      pos += len
    } else throw new Error(`unexpected wire type ${wire}`)
  }
  return fields
}

if (process.argv[2] === 'create') {
  const [keyFile, value, seq, validity, ttlNs, v1] = process.argv.slice(3)
  const key = privateKeyFromProtobuf(new Uint8Array(await readFile(keyFile)))
  const record = await createIPNSRecordWithExpiration(key, value, BigInt(seq), validity, {
    ttlNs: BigInt(ttlNs),
    v1Compatible: v1 === 'true'
  })
  console.log(JSON.stringify({ record_base64: Buffer.from(marshalIPNSRecord(record)).toString('base64') }))
  process.exit(0)
}

const [file, name] = process.argv.slice(2)
if (!file || !name) {
  console.error('usage: node ipns-verify.mjs <record-file> <ipns-name>')
  process.exit(2)
}

const bytes = new Uint8Array(await readFile(file))
const out = { name }
try {
  const cid = CID.parse(name, base36)
  if (cid.code !== 0x72) throw new Error(`name is not a libp2p-key CID (codec 0x${cid.code.toString(16)})`)
  const routingKey = multihashToIPNSRoutingKey(cid.multihash)
  await ipnsValidator(routingKey, bytes)
  out.v2_valid = true

  const record = unmarshalIPNSRecord(bytes)
  out.value = record.value
  out.sequence = record.sequence.toString()
  out.ttl = record.ttl.toString()
  out.validity = record.validity
  out.has_v1 = record.signatureV1 != null

  if (record.signatureV1 != null) {
    // signatureV1 signs the raw protobuf fields: value || validity || "EOL"
    const raw = protobufFields(bytes)
    const pub = publicKeyFromMultihash(cid.multihash)
    const signed = new Uint8Array([...raw[1], ...raw[4], ...new TextEncoder().encode('EOL')])
    out.v1_valid = await pub.verify(signed, record.signatureV1)
    if (!out.v1_valid) throw new Error('signatureV1 does not verify')
  }
  out.ok = true
  console.log(JSON.stringify(out))
} catch (err) {
  out.ok = false
  out.error = `${err.name}: ${err.message}`
  console.log(JSON.stringify(out))
  process.exit(1)
}
