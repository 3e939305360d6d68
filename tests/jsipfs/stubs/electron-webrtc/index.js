// Intentionally empty: the tests run js-ipfs offline, without WebRTC transports.
module.exports = {};
