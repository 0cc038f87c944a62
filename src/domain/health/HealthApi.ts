/** The health part of the REST contract: liveness and readiness probes, open to anyone. */
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "effect/http-api"
import { HealthReport, LegacyHealth, NotReady } from "./Health.js"

export class HealthApi extends HttpApiGroup.make("health")
  .add(
    HttpApiEndpoint.get("legacy", "/health", { success: LegacyHealth }),
    HttpApiEndpoint.get("live", "/health/live", { success: HealthReport }),
    HttpApiEndpoint.get("ready", "/health/ready", { success: HealthReport, error: NotReady.Response })
  )
  .annotate(OpenApi.Description, "Liveness and readiness probes.")
{}
