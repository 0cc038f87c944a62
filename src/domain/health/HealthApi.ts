/** The health part of the REST contract: liveness and readiness probes, open to anyone. */
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "effect/http-api"
import { HealthReport, LegacyHealth, NotReady } from "./Health.js"

export class HealthApi extends HttpApiGroup.make("health")
  .add(
    HttpApiEndpoint.get("legacy", "/health", { success: LegacyHealth }).annotate(
      OpenApi.Summary,
      "Liveness, as the old backend answered it"
    ),
    HttpApiEndpoint.get("live", "/health/live", { success: HealthReport }).annotate(
      OpenApi.Summary,
      "Liveness: the process serves (no dependency checked)"
    ),
    HttpApiEndpoint.get("ready", "/health/ready", { success: HealthReport, error: NotReady.Response }).annotate(
      OpenApi.Summary,
      "Readiness: the database and the rate-limit store answer; 503 once shutdown begins"
    )
  )
  .annotate(OpenApi.Description, "Liveness and readiness probes.")
{}
