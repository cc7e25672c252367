export default async function unsubscribe({ apiClient }) {
  await apiClient.get('/me')
}
