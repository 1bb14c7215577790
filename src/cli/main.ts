#!/usr/bin/env node
/**
 * The `plex-auth` executable: runs the command line on Node and exits with the documented codes
 * (see `errors.ts`); Ctrl-C (SIGINT, or Ctrl-C inside a prompt) ends it with 130 after its
 * finalizers ran: polling stopped, the fake closed.
 *
 * @since 0.2.0
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Logger from "effect/Logger"
import { run } from "./app.js"
import { ExitCode } from "./errors.js"

// Logs (the SDK warns when a JWT refresh fails but the JWT still works) are for the person: stderr,
// so stdout holds only results.
const stderrLogger = Logger.prettyLogger({ stderr: true, colors: process.stderr.isTTY === true })

NodeRuntime.runMain(
  run(process.argv).pipe(
    Effect.provide(Logger.replace(Logger.defaultLogger, stderrLogger)),
    Effect.provide(NodeContext.layer)
  ),
  {
    disableErrorReporting: true,
    disablePrettyLogger: true,
    teardown: (exit, onExit) =>
      onExit(
        Exit.isSuccess(exit)
          ? typeof exit.value === "number" ? exit.value : ExitCode.Ok
          : Cause.isInterruptedOnly(exit.cause)
          ? ExitCode.Interrupted
          : ExitCode.Failure
      )
  }
)
