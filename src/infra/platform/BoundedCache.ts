/**
 * A map whose entries lapse a fixed time after they are set, bounded in entries and in estimated
 * bytes. Entries are kept in the order they were set: with one time to live for all, the oldest is
 * also the first to lapse, so every use drops the lapsed entries from the front (expiry frees
 * memory without a timer, in time proportional to what it frees) and, past a bound, the oldest go
 * first — the ones closest to lapsing anyway.
 *
 * It holds plain values on purpose. effect's `Cache` keeps a fiber per entry, forked from the
 * caller's and so holding the caller's whole context (a request's: ~4 KB), and drops a lapsed entry
 * only when that key is asked for again or capacity pushes it out: at 10,000 entries, tens of MB
 * held by entries nobody will read.
 */

export interface BoundedCacheOptions<V> {
  readonly timeToLiveMillis: number
  readonly maxEntries: number
  readonly maxBytes: number
  /** An estimate of what an entry costs: its key, its value and the map's own share. */
  readonly bytesOf: (key: string, value: V) => number
}

export interface BoundedCacheSize {
  readonly entries: number
  readonly bytes: number
}

export interface BoundedCache<V> {
  /** The value set for `key` less than the time to live before `now`. */
  readonly get: (key: string, now: number) => V | undefined
  readonly set: (key: string, value: V, now: number) => void
  readonly delete: (key: string) => void
  /** The entries that have not lapsed by `now`. */
  readonly entries: (now: number) => ReadonlyArray<readonly [string, V]>
  /** What is held now, lapsed entries not yet dropped included. */
  readonly size: () => BoundedCacheSize
}

interface Entry<V> {
  readonly value: V
  readonly expiresAt: number
  readonly bytes: number
}

export const makeBoundedCache = <V>(options: BoundedCacheOptions<V>): BoundedCache<V> => {
  const map = new Map<string, Entry<V>>()
  let bytes = 0

  const remove = (key: string) => {
    const entry = map.get(key)
    if (entry === undefined) return
    map.delete(key)
    bytes -= entry.bytes
  }

  /** Drops lapsed entries from the front (Map iterates in insertion order), then the oldest past a bound. */
  const trim = (now: number) => {
    for (const [key, entry] of map) {
      if (entry.expiresAt > now && map.size <= options.maxEntries && bytes <= options.maxBytes) return
      remove(key)
    }
  }

  return {
    get: (key, now) => {
      trim(now)
      const entry = map.get(key)
      // A clock that stepped back can leave a lapsed entry behind a live one.
      if (entry === undefined || entry.expiresAt <= now) return undefined
      return entry.value
    },
    set: (key, value, now) => {
      remove(key) // re-inserted at the end: the order stays the order of expiry
      const entry = { value, expiresAt: now + options.timeToLiveMillis, bytes: options.bytesOf(key, value) }
      map.set(key, entry)
      bytes += entry.bytes
      trim(now)
    },
    delete: remove,
    entries: (now) => {
      trim(now)
      const live: Array<readonly [string, V]> = []
      for (const [key, entry] of map) if (entry.expiresAt > now) live.push([key, entry.value])
      return live
    },
    size: () => ({ entries: map.size, bytes })
  }
}
