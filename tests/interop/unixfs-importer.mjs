// Imports files and directory trees with the real `ipfs-unixfs-importer` and prints their root CIDs,
// so ipfs-kit's CIDs can be checked against a UnixFS implementation we did not write.
//
// stdin: a JSON array of cases {path, options}; stdout: a JSON array of CID strings (same order).
// options use Kubo flag names: cid_version, raw_leaves, chunker ("size-N"), trickle, max_file_links,
// hamt_threshold, profile, wrap_with_directory. Kubo's flag semantics are mapped as in
// ../../../shared/reference/unixfs-notes.md §9.
import { importer } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced, trickle } from 'ipfs-unixfs-importer/layout'
import { MemoryBlockstore } from 'blockstore-core/memory'
import fs from 'node:fs'
import path from 'node:path'

function entries (root) {
  const st = fs.lstatSync(root)
  const base = path.basename(root)
  if (st.isFile()) return [{ path: base, content: fs.createReadStream(root) }]
  const out = []
  const walk = (abs, rel) => {
    const names = fs.readdirSync(abs).sort()
    if (names.length === 0) out.push({ path: rel })
    for (const name of names) {
      const a = path.join(abs, name)
      const r = rel + '/' + name
      const s = fs.lstatSync(a)
      if (s.isDirectory()) walk(a, r)
      else if (s.isFile()) out.push({ path: r, content: fs.createReadStream(a) })
      else throw new Error('unsupported entry ' + a)
    }
  }
  walk(root, base)
  return out
}

function importerOptions (o) {
  const profile = o.profile ?? 'unixfs-v0-2015'
  const v1 = profile === 'unixfs-v1-2025'
  const cidVersion = o.cid_version ?? (v1 ? 1 : 0)
  const rawLeaves = o.raw_leaves ?? (v1 || cidVersion === 1)
  const maxChildrenPerNode = o.max_file_links ?? (v1 ? 1024 : 174)
  let chunkSize = v1 ? 1048576 : 262144
  if (o.chunker) {
    const m = /^size-(\d+)$/.exec(o.chunker)
    if (!m) throw new Error('only size-N chunkers are compared: ' + o.chunker)
    chunkSize = Number(m[1])
  }
  const opts = {
    profile,
    cidVersion,
    rawLeaves,
    chunker: fixedSize({ chunkSize }),
    layout: o.trickle ? trickle({ maxChildrenPerNode, layerRepeat: 4 }) : balanced({ maxChildrenPerNode }),
    wrapWithDirectory: Boolean(o.wrap_with_directory),
    shardSplitThresholdBytes: o.hamt_threshold ?? 262144
  }
  if (o.trickle) {
    opts.leafType = 'raw'
    opts.reduceSingleLeafToSelf = false
  } else {
    opts.leafType = 'file'
    opts.reduceSingleLeafToSelf = true
  }
  return opts
}

const input = JSON.parse(fs.readFileSync(0, 'utf8'))
const results = []
for (const c of input) {
  const store = new MemoryBlockstore()
  let last
  for await (const e of importer(entries(c.path), store, importerOptions(c.options ?? {}))) last = e
  results.push(last.cid.toString())
}
process.stdout.write(JSON.stringify(results) + '\n')
