import "vitest"

declare module "vitest" {
  export interface ProvidedContext {
    /** URL of the run's PostgreSQL server (its `postgres` database), from globalSetup. */
    readonly pgAdminUrl: string
  }
}
