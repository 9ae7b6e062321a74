import { writeFileSync, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { REPO_ROOT, freePort, run, startSupervised, stopPid, waitUntil, tailOf } from './process.ts';
import { runContext, runSubdir, shared, type RunContext } from './run.ts';

export interface KafkaInfo {
  readonly brokers: string[];
  readonly pid: number;
  readonly log: string;
  readonly workDir: string;
}

/** A broker a test owns: it can stop and start it again on the same port and data. */
export interface KafkaHandle extends KafkaInfo {
  stop(): Promise<void>;
  start(): Promise<void>;
}

const VERSION = process.env.KAFKA_VERSION ?? '4.1.1';

/** The Kafka broker shared by every test file of the run (one KRaft node on 127.0.0.1). */
export function sharedKafka(): Promise<KafkaInfo> {
  return shared('kafka', async (ctx) => {
    const h = await startKafka(ctx);
    return { brokers: h.brokers, pid: h.pid, log: h.log, workDir: h.workDir };
  });
}

/** Starts a broker of the test's own, for tests that stop and restart it. */
export async function startKafka(ctx: RunContext = runContext()): Promise<KafkaHandle> {
  const lib = (await run('bash', [join(REPO_ROOT, 'scripts/install-kafka.sh')], { env: { ...process.env, KAFKA_VERSION: VERSION } })).trim();
  const dir = runSubdir(ctx, 'kafka');
  const [port, controllerPort] = [await freePort(), await freePort()];
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, 'log4j2.properties'), LOG4J);
  writeFileSync(join(dir, 'server.properties'), serverProperties(dir, port, controllerPort));
  const java = ['-Xms128m', '-Xmx512m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Djava.awt.headless=true', `-Dlog4j2.configurationFile=file:${dir}/log4j2.properties`, '-cp', `${lib}/*`];
  // A fixed cluster id keeps the data directory valid across stop/start of the same broker.
  await run('java', [...java, 'kafka.tools.StorageTool', 'format', '-t', 'c3VyZ2VndWFyZC10ZXN0', '-c', join(dir, 'server.properties')]);
  const log = join(dir, 'kafka.log');
  let pid = 0;
  const handle: KafkaHandle = {
    brokers: [`127.0.0.1:${port}`],
    get pid() {
      return pid;
    },
    log,
    workDir: dir,
    async start() {
      const p = await startSupervised({ cmd: 'java', args: [...java, 'kafka.Kafka', join(dir, 'server.properties')], log, pidFile: join(dir, `kafka-${Date.now()}.pid`), ownerPid: ctx.ownerPid });
      pid = p.pid;
      await waitUntil(`Kafka broker on 127.0.0.1:${port}`, async () => ((await canConnect(port)) && tailOf(log, 400).includes('Kafka Server started') ? true : undefined), { timeoutMs: 90_000, pid, log });
    },
    async stop() {
      await stopPid(pid, 20_000);
    },
  };
  await handle.start();
  return handle;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

function serverProperties(dir: string, port: number, controllerPort: number): string {
  // One node, so every internal topic needs replication factor 1 (kafkajs#1752).
  return `process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${controllerPort}
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}
advertised.listeners=PLAINTEXT://127.0.0.1:${port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=${dir}/data
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.flush.interval.messages=9223372036854775807
`;
}

const LOG4J = `status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.stdout.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = INFO
`;
