// One long-running KafkaJS group member, driven by test_groups_kafkajs.py.
//
// Unlike the one-shot scenario scripts this prints one JSON line per event on stdout:
//   {"event":"join", memberId, leaderId, isLeader, protocol, assignment: {topic: [partitions]}}
//   {"event":"message", topic, partition, offset, value}
//   {"event":"commit", memberId, generationId, offsets: [{topic, partition, offset}]}
//   {"event":"crash", error, restart}   (KafkaJS gave up; the process exits 4 unless it restarts)
//   {"event":"stopped"}                 (after SIGTERM: consumer.disconnect() sent LeaveGroup)
// SIGTERM leaves the group gracefully and exits 0; kill -9 is the test's way to crash it.
// A closed stdin means the test process is gone: exit rather than linger.
//
// Argument (JSON): bootstrap, groupId, topics, and optionally
//   consumer: more KafkaJS consumer options (e.g. sessionTimeout), KafkaJS defaults otherwise,
//   assigners: [{type: 'roundRobin'} | {type: 'byLabel', name, label, want}] (default: KafkaJS's),
//   run: more consumer.run options (default autoCommit: commit after every batch).
'use strict'
const { AssignerProtocol, PartitionAssigners } = require('kafkajs')
const { kafkaFor, describeError } = require('./common')

const DEADLINE_MS = Number(process.env.FJORD_JS_DEADLINE_MS || 170000)
const { MemberMetadata, MemberAssignment } = AssignerProtocol

function emit (event) {
  process.stdout.write(JSON.stringify(event) + '\n')
}

// A custom assigner with its own protocol name: each member announces a label and how many
// partitions it wants in its metadata's userData; the leader hands out contiguous ranges in
// label order, the last member taking the rest. The outcome depends on every member's
// metadata reaching the leader intact, and the assignment's userData names the leader.
function byLabelAssigner ({ name, label, want }) {
  return ({ cluster }) => ({
    name,
    version: 0,
    protocol ({ topics }) {
      const userData = Buffer.from(JSON.stringify({ label, want }))
      return { name, metadata: MemberMetadata.encode({ version: 0, topics, userData }) }
    },
    async assign ({ members, topics }) {
      const wishes = members.map(({ memberId, memberMetadata }) => ({
        memberId, ...JSON.parse(MemberMetadata.decode(memberMetadata).userData.toString())
      })).sort((a, b) => a.label.localeCompare(b.label))
      const assignment = Object.fromEntries(wishes.map(w => [w.memberId, {}]))
      for (const topic of [...topics].sort()) {
        const partitions = cluster.findTopicPartitionMetadata(topic).map(m => m.partitionId).sort((a, b) => a - b)
        let next = 0
        wishes.forEach((wish, i) => {
          const count = i === wishes.length - 1 ? partitions.length - next : Math.min(wish.want, partitions.length - next)
          assignment[wish.memberId][topic] = partitions.slice(next, next + count)
          next += count
        })
      }
      const userData = Buffer.from(`assigned-by:${label}`)
      return wishes.map(({ memberId }) => ({
        memberId,
        memberAssignment: MemberAssignment.encode({ version: 0, assignment: assignment[memberId], userData })
      }))
    }
  })
}

function assignersFrom (specs) {
  if (!specs) return undefined
  return specs.map(spec => {
    if (spec.type === 'roundRobin') return PartitionAssigners.roundRobin
    if (spec.type === 'byLabel') return byLabelAssigner(spec)
    throw new Error(`unknown assigner type ${spec.type}`)
  })
}

async function run ({ bootstrap, groupId, topics, consumer: consumerOptions, assigners, run: runOptions }) {
  const options = { groupId, ...consumerOptions }
  if (assigners !== undefined) options.partitionAssigners = assignersFrom(assigners)
  const consumer = kafkaFor(bootstrap).consumer(options)
  const { GROUP_JOIN, COMMIT_OFFSETS, CRASH } = consumer.events

  consumer.on(GROUP_JOIN, ({ payload }) => emit({
    event: 'join',
    memberId: payload.memberId,
    leaderId: payload.leaderId,
    isLeader: Boolean(payload.isLeader),
    protocol: payload.groupProtocol,
    assignment: payload.memberAssignment
  }))
  consumer.on(COMMIT_OFFSETS, ({ payload }) => emit({
    event: 'commit',
    memberId: payload.memberId,
    generationId: payload.groupGenerationId,
    offsets: payload.topics.flatMap(({ topic, partitions }) =>
      partitions.map(({ partition, offset }) => ({ topic, partition: Number(partition), offset: Number(offset) })))
  }))
  consumer.on(CRASH, ({ payload }) => {
    emit({ event: 'crash', error: describeError(payload.error), restart: payload.restart })
    if (!payload.restart) process.exit(4)
  })

  let stopping = false
  const leave = async () => {
    if (stopping) return
    stopping = true
    await consumer.disconnect()
    emit({ event: 'stopped' })
    process.stdout.write('', () => process.exit(0))
  }
  process.on('SIGTERM', () => leave().catch(fail))
  process.stdin.on('end', () => process.exit(5))
  process.stdin.resume()

  await consumer.connect()
  await consumer.subscribe({ topics, fromBeginning: true })
  await consumer.run({
    ...runOptions,
    eachMessage: async ({ topic, partition, message }) => emit({
      event: 'message',
      topic,
      partition,
      offset: Number(message.offset),
      value: message.value === null ? null : message.value.toString()
    })
  })
}

function fail (error) {
  process.stderr.write(`group member failed: ${error.stack || error}\n${JSON.stringify(describeError(error))}\n`)
  process.exit(2)
}

setTimeout(() => {
  process.stderr.write(`group member exceeded ${DEADLINE_MS} ms\n`)
  process.exit(3)
}, DEADLINE_MS).unref()
run(JSON.parse(process.argv[2] || '{}')).catch(fail)
