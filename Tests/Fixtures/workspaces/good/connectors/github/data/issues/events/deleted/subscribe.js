export default async function subscribe({ apiClient, parameters }) {
  const events = await apiClient.get(`/repos/${parameters.owner}/${parameters.repo}/issues/events`, { query: { per_page: 1 } })
  return { state: { lastEventId: events[0]?.id ?? 0 } }
}
