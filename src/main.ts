/** The composition root: the whole service as one layer graph, launched until SIGTERM/SIGINT. */
import { Layer } from "effect"
import { runEntryPoint } from "./Boot.js"
import { AppLive } from "./http/Server.js"

runEntryPoint(Layer.launch(AppLive))
