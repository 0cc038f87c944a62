/**
 * Who is on the other end of a request. The client IP is the socket's address unless
 * `TRUST_PROXY` says which peers may speak for the client through `X-Forwarded-For`; a header
 * from any other peer is ignored, so it cannot be spoofed.
 */
import { Effect, Option } from "effect"
import { HttpServerRequest } from "effect/http"
import { BlockList, isIPv6 } from "node:net"
import type { ClientInfo } from "../../infra/platform/ClientInfo.js"
import { AppConfig, type TrustProxy } from "../../infra/platform/Config.js"
import { currentRequestState } from "./RequestState.js"

const MAX_USER_AGENT = 512

/** `::ffff:10.0.0.1` and `10.0.0.1` are one client. */
const normalise = (address: string) => address.trim().replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, "$1")

const trustedAddresses = (addresses: ReadonlyArray<string>) => {
  const list = new BlockList()
  for (const entry of addresses) {
    const [address, prefix] = entry.split("/")
    const type = isIPv6(address) ? "ipv6" : "ipv4"
    if (prefix === undefined) list.addAddress(address, type)
    else list.addSubnet(address, Number(prefix), type)
  }
  return (address: string) => list.check(address, isIPv6(address) ? "ipv6" : "ipv4")
}

/** The client's address given the socket peer and the `X-Forwarded-For` chain. */
export const clientAddress = (trust: TrustProxy) => {
  const isTrusted = trust._tag === "Addresses" ? trustedAddresses(trust.addresses) : () => false
  return (socket: string | undefined, forwardedFor: string | undefined): string | null => {
    if (socket === undefined) return null
    const peer = normalise(socket)
    if (trust._tag === "None" || forwardedFor === undefined) return peer
    // Nearest hop last: [client, proxy1, …, peer].
    const chain = [...forwardedFor.split(",").map(normalise).filter((a) => a.length > 0), peer]
    if (trust._tag === "Hops") return chain[Math.max(0, chain.length - 1 - trust.hops)]
    let index = chain.length - 1
    while (index > 0 && isTrusted(chain[index])) index--
    return chain[index]
  }
}

/**
 * Reads a request's client: built once from the configuration, then applied per request. The
 * address is the one the edge resolved (RequestState); resolved here only where no edge ran.
 */
export const makeClientInfo = Effect.map(AppConfig, ({ trustProxy }) => {
  const resolve = clientAddress(trustProxy)
  return Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const state = yield* currentRequestState
    return {
      ipAddress: state !== undefined
        ? state.clientIp
        : resolve(Option.getOrUndefined(request.remoteAddress), request.headers["x-forwarded-for"]),
      userAgent: request.headers["user-agent"]?.slice(0, MAX_USER_AGENT) ?? null
    } satisfies ClientInfo
  })
})
