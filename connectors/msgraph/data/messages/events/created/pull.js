// Follows the stored delta link: messages created since the previous pull become `created`
// events. Delta also reports changes to older messages (read, flagged, moved) and removals;
// those are not creations and are skipped, using createdDateTime against the stored `since`.
// A long backlog is read a bounded number of pages at a time: the next pull continues it.
const MAX_PAGES = 20

export default async function pull({ apiClient, state }) {
  const events = []
  const since = state.since ? Date.parse(state.since) : 0
  let newest = state.newest ? Math.max(since, Date.parse(state.newest)) : since
  let next = state.nextLink ?? state.deltaLink
  for (let page = 0; page < MAX_PAGES; page++) {
    const response = await apiClient.get(next)
    for (const message of response.value ?? []) {
      if (message['@removed']) continue
      const created = Date.parse(message.createdDateTime ?? message.receivedDateTime)
      if (!(created > since)) continue
      newest = Math.max(newest, created)
      events.push({ type: 'created', record: toRecord(message) })
    }
    if (response['@odata.deltaLink']) {
      return { events, state: { deltaLink: response['@odata.deltaLink'], since: new Date(newest).toISOString() } }
    }
    next = response['@odata.nextLink']
    if (!next) throw new Error('delta response has neither @odata.nextLink nor @odata.deltaLink')
  }
  // Keep `since` until the backlog is read, so nothing on the remaining pages is skipped.
  return { events, state: { ...state, nextLink: next, newest: new Date(newest).toISOString() } }
}

function toRecord(message) {
  return {
    id: message.id,
    name: message.subject ?? '(no subject)',
    createdTime: message.createdDateTime ?? message.receivedDateTime,
    fields: {
      subject: message.subject ?? null,
      from: message.from?.emailAddress?.address ?? null,
      receivedDateTime: message.receivedDateTime,
      bodyPreview: message.bodyPreview ?? '',
      isRead: message.isRead ?? false,
    },
  }
}
