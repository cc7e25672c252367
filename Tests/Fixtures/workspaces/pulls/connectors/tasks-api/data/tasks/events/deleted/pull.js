export default async function pull({ apiClient, state }) {
  const response = await apiClient.get(`/tasks/deletions?since=${state.since}`)
  return {
    events: response.deletions.map((deletion) => ({
      type: 'deleted',
      record: { id: deletion.id, deletedTime: deletion.at },
    })),
    state: { since: response.latest },
  }
}
