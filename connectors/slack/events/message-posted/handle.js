// Turns one routed Events API payload into a record event; other event types of the same
// Slack workspace (reactions, channel changes, ...) give no events.
// https://api.slack.com/events/message
const IGNORED_SUBTYPES = new Set(['channel_join', 'channel_leave', 'channel_topic', 'channel_purpose', 'channel_name'])

export default async function handle({ payload, parameters }) {
  const event = payload.event
  if (event?.type !== 'message' || IGNORED_SUBTYPES.has(event.subtype)) return { events: [] }
  if (parameters.channelId && event.channel !== parameters.channelId) return { events: [] }

  if (event.subtype === 'message_deleted') {
    const ts = event.deleted_ts ?? event.previous_message?.ts
    return { events: [{ type: 'deleted', record: { id: `${event.channel}:${ts}`, deletedTime: toISO(event.ts) } }] }
  }
  if (event.subtype === 'message_changed') {
    return { events: [{ type: 'updated', record: toRecord(event.channel, event.message) }] }
  }
  return { events: [{ type: 'created', record: toRecord(event.channel, event) }] }
}

function toRecord(channel, message) {
  return {
    id: `${channel}:${message.ts}`,
    name: (message.text ?? '').slice(0, 80),
    createdTime: toISO(message.ts),
    fields: {
      channel,
      user: message.user ?? null,
      text: message.text ?? '',
      ts: message.ts,
      threadTs: message.thread_ts ?? null,
    },
  }
}

function toISO(ts) {
  return new Date(Number(ts) * 1000).toISOString()
}
