export default async function subscribe({ apiClient }) {
  const me = await apiClient.get('/me')
  return { state: { user: me.user } }
}
