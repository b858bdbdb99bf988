import { runWallChecks, type WallsInput } from './walls';

/** Runs the sandbox-walls checks as whoever starts this process (the walls test starts it as a test user)
 *  and prints the report as one JSON line. */
async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2]) as WallsInput;
  const report = await runWallChecks(input);
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch(e => { process.stderr.write(`${(e as Error).stack ?? e}\n`); process.exit(1); });
