// Benchmark peer: import one file with ipfs-unixfs-importer (Kubo's default options) and print its CID.
// usage: node bench-importer.mjs only-hash FILE | node bench-importer.mjs fs FILE BLOCKDIR
import { importer } from 'ipfs-unixfs-importer'
import { FsBlockstore } from 'blockstore-fs'
import fs from 'node:fs'

const [mode, file, dir] = process.argv.slice(2)
// A blockstore that keeps nothing: what `ipfs add --only-hash` needs.
const discard = {
  async put (cid) { return cid },
  async has () { return false }
}
let store = discard
if (mode === 'fs') {
  store = new FsBlockstore(dir)
  await store.open()
}
let last
const opts = { profile: 'unixfs-v0-2015', cidVersion: 0, rawLeaves: false, reduceSingleLeafToSelf: true, leafType: 'file' }
for await (const e of importer([{ path: 'data.bin', content: fs.createReadStream(file, { highWaterMark: 1 << 20 }) }], store, opts)) last = e
if (mode === 'fs') await store.close()
process.stdout.write(last.cid.toString() + '\n')
