/** Where a request came from, recorded on the session it opens (the edge reads it, auth keeps it). */
export interface ClientInfo {
  readonly ipAddress: string | null
  readonly userAgent: string | null
}
