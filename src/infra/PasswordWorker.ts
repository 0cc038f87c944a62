/** Worker-thread entry: bcrypt off the event loop's thread (bcryptjs is pure JS and blocks). */
import { WorkerRunner } from "@effect/platform"
import { NodeRuntime, NodeWorkerRunner } from "@effect/platform-node"
import bcrypt from "bcryptjs"
import { Effect, Layer } from "effect"
import { PasswordRequest } from "./PasswordWorkerProtocol.js"

const Handlers = WorkerRunner.layerSerialized(PasswordRequest, {
  HashPassword: ({ cost, password }) => Effect.sync(() => bcrypt.hashSync(password, cost)),
  ComparePassword: ({ hash, password }) => Effect.sync(() => bcrypt.compareSync(password, hash))
})

WorkerRunner.launch(Handlers.pipe(Layer.provide(NodeWorkerRunner.layer))).pipe(NodeRuntime.runMain)
