// Drives ipfs-kit's Kubo RPC API with the real npm `kubo-rpc-client` (pinned in package.json).
// Usage: node kubo-rpc-client.mjs <api url> <work dir>
// The work dir holds small.txt, big.bin and tree/ (written by crates/cli/tests/rpc.rs). Prints
// one JSON report on stdout: the CIDs the daemon answered, for the Rust test to compare with
// `ipfs-kit add`; everything the client can check by itself is asserted here.
import { create } from 'kubo-rpc-client'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import assert from 'node:assert/strict'

const [api, dir] = process.argv.slice(2)
const ipfs = create({ url: api })
const report = { add: {}, skipped: [] }

const concat = async (iter) => {
  const chunks = []
  for await (const c of iter) chunks.push(c)
  return Buffer.concat(chunks)
}
const all = async (iter) => {
  const out = []
  for await (const x of iter) out.push(x)
  return out
}

// A directory tree as addAll entries, in sorted walk order (files with content, dirs without).
const walk = (root, rel = '') => {
  const out = []
  for (const name of readdirSync(join(root, rel)).sort()) {
    const path = rel ? `${rel}/${name}` : name
    if (statSync(join(root, path)).isDirectory()) {
      out.push({ path })
      out.push(...walk(root, path))
    } else {
      out.push({ path, content: readFileSync(join(root, path)) })
    }
  }
  return out
}

const small = readFileSync(join(dir, 'small.txt'))
const big = readFileSync(join(dir, 'big.bin'))

// ---- add ----
report.version = (await ipfs.version()).Version ?? (await ipfs.version()).version
report.add.small = (await ipfs.add(small)).cid.toString()
const bigAdded = await ipfs.add(big)
report.add.big = bigAdded.cid.toString()
assert.equal(bigAdded.size > big.length, true, 'add size is the DAG size')
report.add.big_v1 = (await ipfs.add(big, { cidVersion: 1 })).cid.toString()
report.add.big_raw_chunked = (await ipfs.add(big, { rawLeaves: true, chunker: 'size-1024' })).cid.toString()
report.add.small_wrapped = (await ipfs.add({ path: 'small.txt', content: small }, { wrapWithDirectory: true })).cid.toString()
// Mode and mtime go in the part's field name; the daemon echoes them and the client parses them back.
const withMeta = await ipfs.add({ content: small, mode: 0o644, mtime: { secs: 1700000000, nsecs: 5 } })
assert.equal(withMeta.mode, 0o644, 'the mode comes back')
assert.deepEqual(withMeta.mtime, { secs: 1700000000, nsecs: 5 }, 'the mtime comes back')
report.add.small_meta = withMeta.cid.toString()
const progress = []
await ipfs.add(big, { progress: (bytes) => progress.push(bytes) })
assert.equal(progress.at(-1), big.length, 'last progress event counts every byte')

const treeEntries = walk(join(dir, 'tree')).map((e) => ({ ...e, path: `tree/${e.path}` }))
const added = await all(ipfs.addAll(treeEntries))
assert.equal(added.at(-1).path, 'tree', 'the root comes last')
report.add.tree = added.at(-1).cid.toString()
report.add.tree_entries = added.map((a) => [a.path, a.cid.toString()])
const planets = walk(join(dir, 'planets')).map((e) => ({ ...e, path: `planets/${e.path}` }))
report.add.planets = (await all(ipfs.addAll(planets))).at(-1).cid.toString()
// The same tree without explicit directory parts (implicit parents).
const filesOnly = treeEntries.filter((e) => e.content != null)
report.add.tree_implicit = (await all(ipfs.addAll(filesOnly))).at(-1).cid.toString()
const wrapped = await all(ipfs.addAll(treeEntries, { wrapWithDirectory: true, cidVersion: 1 }))
assert.equal(wrapped.at(-1).path, '', 'the wrapper comes last, unnamed')
report.add.tree_wrapped_v1 = wrapped.at(-1).cid.toString()

// ---- cat ----
assert.deepEqual(await concat(ipfs.cat(bigAdded.cid)), big)
assert.deepEqual(await concat(ipfs.cat(bigAdded.cid, { offset: 1000, length: 70000 })), big.subarray(1000, 71000))
assert.deepEqual(await concat(ipfs.cat(`/ipfs/${report.add.tree}/a.txt`)), readFileSync(join(dir, 'tree/a.txt')))

// ---- ls ----
const listing = await all(ipfs.ls(report.add.tree))
report.ls = listing.map((e) => [e.name, e.type, e.cid.toString(), e.size])
assert.deepEqual(listing.map((e) => e.name), readdirSync(join(dir, 'tree')).sort())

// ---- pins ----
const pins = await all(ipfs.pin.ls({ type: 'recursive' }))
assert.ok(pins.some((p) => p.cid.toString() === report.add.tree), 'add pinned the tree')
const unpinned = (await ipfs.add(Buffer.from('not pinned yet'), { pin: false })).cid
assert.equal((await ipfs.pin.add(unpinned)).toString(), unpinned.toString())
const pinned = await all(ipfs.pin.ls({ paths: [unpinned] }))
assert.equal(pinned[0].type, 'recursive')
assert.equal((await ipfs.pin.rm(unpinned)).toString(), unpinned.toString())
await assert.rejects(all(ipfs.pin.ls({ paths: [unpinned] })), /not pinned/)

// ---- dag ----
const node = { hello: 'world', n: 42, link: bigAdded.cid }
const dagCid = await ipfs.dag.put(node)
report.dag = dagCid.toString()
const got = await ipfs.dag.get(dagCid)
assert.equal(got.value.hello, 'world')
assert.equal(got.value.n, 42)
assert.equal(got.value.link.toString(), bigAdded.cid.toString())
const jsonCid = await ipfs.dag.put({ a: [1, 2, 3] }, { storeCodec: 'dag-json' })
assert.deepEqual((await ipfs.dag.get(jsonCid)).value, { a: [1, 2, 3] })
report.dag_json = jsonCid.toString()

// ---- blocks ----
const blockCid = await ipfs.block.put(Buffer.from('raw block bytes'))
report.block = blockCid.toString()
assert.deepEqual(Buffer.from(await ipfs.block.get(blockCid)), Buffer.from('raw block bytes'))
const bstat = await ipfs.block.stat(blockCid)
assert.equal(bstat.size, 15)
assert.equal(bstat.cid.toString(), blockCid.toString())

// ---- MFS ----
await ipfs.files.mkdir('/rpc/nested', { parents: true })
await ipfs.files.write('/rpc/nested/hello.txt', Buffer.from('hello mfs'), { create: true })
await ipfs.files.write('/rpc/nested/hello.txt', Buffer.from('HELLO'), { offset: 0 })
assert.equal((await concat(ipfs.files.read('/rpc/nested/hello.txt'))).toString(), 'HELLO mfs')
assert.equal((await concat(ipfs.files.read('/rpc/nested/hello.txt', { offset: 6, length: 3 }))).toString(), 'mfs')
const mls = await all(ipfs.files.ls('/rpc/nested'))
assert.deepEqual(mls.map((e) => [e.name, e.type, e.size]), [['hello.txt', 'file', 9]])
const fstat = await ipfs.files.stat('/rpc/nested/hello.txt')
assert.equal(fstat.type, 'file')
assert.equal(fstat.size, 9)
report.mfs_file = fstat.cid.toString()
await ipfs.files.cp(`/ipfs/${report.add.tree}`, '/rpc/tree')
assert.equal((await ipfs.files.stat('/rpc/tree')).cid.toString(), report.add.tree)
await ipfs.files.mv('/rpc/tree', '/rpc/tree2')
// add --to-files (sent as Kubo's option name; the client has no camelCase name for it)
const toFiles = await ipfs.add({ path: 'tf.txt', content: Buffer.from('to files') }, { searchParams: { 'to-files': '/rpc/' } })
assert.equal((await ipfs.files.stat('/rpc/tf.txt')).cid.toString(), toFiles.cid.toString())
await ipfs.files.rm('/rpc', { recursive: true })
assert.deepEqual((await all(ipfs.files.ls('/'))).map((e) => e.name), [])

// ---- refs, repo ----
const refs = await all(ipfs.refs(report.add.tree, { recursive: true }))
assert.ok(refs.length > 0 && refs.every((r) => !r.err), 'refs without errors')
report.refs = refs.map((r) => r.ref)
const local = await all(ipfs.refs.local())
assert.ok(local.length >= refs.length)
const stat = await ipfs.repo.stat()
assert.ok(Number(stat.numObjects) > 0 && Number(stat.repoSize) > 0)

// ---- node identity, keys, names: only when the node has them ----
try {
  const id = await ipfs.id()
  report.id = id.id.toString()
} catch (e) {
  report.skipped.push(`id: ${e.message}`)
}
try {
  const key = await ipfs.key.gen('rpc-test-key', { type: 'ed25519' })
  assert.equal(key.name, 'rpc-test-key')
  const keys = await ipfs.key.list()
  assert.ok(keys.some((k) => k.name === 'rpc-test-key'))
  const pub = await ipfs.name.publish(`/ipfs/${report.add.small}`, { key: 'rpc-test-key' })
  assert.equal(pub.value, `/ipfs/${report.add.small}`)
  const resolved = await all(ipfs.name.resolve(pub.name))
  assert.equal(resolved.at(-1), `/ipfs/${report.add.small}`)
  report.name = pub.name
} catch (e) {
  report.skipped.push(`keys/names: ${e.message}`)
}

process.stdout.write(JSON.stringify(report) + '\n')
