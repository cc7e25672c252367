// The state is the deletion log's position at subscription: pull reports what comes after it.
export default async function subscribe({ apiClient }) {
  const response = await apiClient.get('/tasks/deletions')
  return { state: { since: response.latest } }
}
