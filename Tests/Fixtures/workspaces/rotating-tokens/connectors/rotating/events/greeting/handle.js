// Answers a URL check with the API's user: a handshake that needs the API.
export default async function handle({ apiClient }) {
  const me = await apiClient.get('/me')
  return { events: [], response: { status: 200, data: me.user } }
}
