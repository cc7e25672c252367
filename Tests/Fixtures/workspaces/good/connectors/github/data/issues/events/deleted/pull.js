export default async function pull({ apiClient, state, parameters }) {
  const events = await apiClient.get(`/repos/${parameters.owner}/${parameters.repo}/issues/events`)
  const fresh = events.filter((event) => event.id > state.lastEventId && event.event === 'deleted')
  return {
    events: fresh.map((event) => ({ type: 'deleted', record: { id: String(event.issue.number) } })),
    state: { lastEventId: Math.max(state.lastEventId, ...events.map((event) => event.id)) },
  }
}
