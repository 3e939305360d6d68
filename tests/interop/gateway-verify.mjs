// Checks ipfs-kit's trustless gateway CAR responses with code we did not write: @ipld/car reads the
// stream, multiformats hashes every block against its CID, and ipfs-unixfs-exporter rebuilds the
// UnixFS content from the CAR's blocks alone (no other block source).
//
// stdin: a JSON array of cases
//   {url, path, expect_file?, offset?, length?, expect_entries?, expect_missing?}
//   url:           a gateway URL answering application/vnd.ipld.car
//   path:          what to export from the CAR blocks: "<root cid>[/sub/path]"
//   expect_file:   a local file whose bytes the export must equal (the whole file, or the range
//                  offset/length of it when given)
//   expect_entries: the names a directory export must list (sorted)
//   expect_missing: true when exporting the file's whole content must FAIL (the CAR was cut to a
//                  byte range, so blocks outside it are absent)
// stdout: a JSON array of {url, ok, blocks, error?}; exit status 1 when any case failed.
import { CarBlockIterator } from '@ipld/car'
import { exporter } from 'ipfs-unixfs-exporter'
import { sha256, sha512 } from 'multiformats/hashes/sha2'
import { identity } from 'multiformats/hashes/identity'
import fs from 'node:fs'

const hashers = { [sha256.code]: sha256, [sha512.code]: sha512, [identity.code]: identity }

async function readStdin () {
  const chunks = []
  for await (const c of process.stdin) chunks.push(c)
  return JSON.parse(Buffer.concat(chunks).toString('utf8'))
}

function equalBytes (a, b) {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

async function collect (iter) {
  const parts = []
  let n = 0
  for await (const c of iter) { parts.push(c); n += c.length }
  const out = new Uint8Array(n)
  let o = 0
  for (const p of parts) { out.set(p, o); o += p.length }
  return out
}

async function check (c) {
  const res = await fetch(c.url)
  if (res.status !== 200) throw new Error(`HTTP ${res.status}`)
  const ctype = res.headers.get('content-type') ?? ''
  if (!ctype.startsWith('application/vnd.ipld.car')) throw new Error(`content-type ${ctype}`)
  const body = new Uint8Array(await res.arrayBuffer())
  const iter = await CarBlockIterator.fromBytes(body)
  const blocks = new Map()
  let count = 0
  for await (const { cid, bytes } of iter) {
    const hasher = hashers[cid.multihash.code]
    if (hasher === undefined) throw new Error(`no hasher for ${cid}`)
    const digest = await hasher.digest(bytes)
    if (!equalBytes(digest.digest, cid.multihash.digest)) throw new Error(`block ${cid} does not match its CID`)
    blocks.set(cid.multihash.bytes.toString(), bytes)
    count++
  }
  const roots = await iter.getRoots()
  const root = c.path.split('/')[0]
  if (roots.length !== 1 || roots[0].toString() !== root) {
    throw new Error(`CAR roots ${roots.map(String)} but expected ${root}`)
  }
  const blockstore = {
    * get (cid) {
      const b = blocks.get(cid.multihash.bytes.toString())
      if (b === undefined) throw new Error(`block ${cid} is not in the CAR`)
      yield b
    }
  }
  const entry = await exporter(c.path, blockstore)
  if (c.expect_entries !== undefined) {
    if (entry.type !== 'directory') throw new Error(`${c.path} is a ${entry.type}, not a directory`)
    const names = []
    for await (const e of entry.entries()) names.push(e.name)
    names.sort()
    const want = [...c.expect_entries].sort()
    if (JSON.stringify(names) !== JSON.stringify(want)) {
      throw new Error(`entries ${JSON.stringify(names)} but expected ${JSON.stringify(want)}`)
    }
  }
  if (c.expect_file !== undefined) {
    const whole = fs.readFileSync(c.expect_file)
    const opts = {}
    let want = whole
    if (c.offset !== undefined) {
      opts.offset = c.offset
      opts.length = c.length
      want = whole.subarray(c.offset, c.offset + c.length)
    }
    const got = await collect(entry.content(opts))
    if (!equalBytes(got, want)) throw new Error(`exported ${got.length} bytes differ from the ${want.length} expected`)
  }
  if (c.expect_missing) {
    let failed = false
    expectingFailures = true
    try { await collect(entry.content()) } catch { failed = true }
    await new Promise((resolve) => setTimeout(resolve, 50))
    expectingFailures = false
    if (!failed) throw new Error('the whole file exported, but the CAR should carry only a range')
  }
  return count
}

// Exporting a range-cut CAR's whole file must fail; the exporter fetches blocks in parallel and
// leaves the sibling fetches' rejections unhandled, which are expected then and only then.
let expectingFailures = false
const stray = []
process.on('unhandledRejection', (e) => { if (!expectingFailures) stray.push(String(e?.message ?? e)) })

const cases = await readStdin()
const results = []
let bad = 0
for (const c of cases) {
  try {
    const blocks = await check(c)
    results.push({ url: c.url, ok: true, blocks })
  } catch (e) {
    bad++
    results.push({ url: c.url, ok: false, error: String(e?.message ?? e) })
  }
}
if (stray.length > 0) { bad++; results.push({ ok: false, error: `unhandled: ${stray.join('; ')}` }) }
process.stdout.write(JSON.stringify(results))
process.exit(bad === 0 ? 0 : 1)
