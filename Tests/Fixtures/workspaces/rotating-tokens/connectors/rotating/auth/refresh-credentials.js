// Trades the refresh token for a new pair; the old refresh token is then void.
export default async function refreshCredentials({ apiClient, credentials }) {
  const token = await apiClient.post('/oauth/token', { grant_type: 'refresh_token', refresh_token: credentials.refresh_token })
  return { access_token: token.access_token, refresh_token: token.refresh_token }
}
