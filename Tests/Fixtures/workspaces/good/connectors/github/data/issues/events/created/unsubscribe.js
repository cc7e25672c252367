export default async function unsubscribe({ apiClient, state, parameters }) {
  await apiClient.delete(`/repos/${parameters.owner}/${parameters.repo}/hooks/${state.hookId}`)
}
