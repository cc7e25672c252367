// Called when Graph answers 401: trades the refresh token for a new access token; the request
// that failed is then retried once with the new credentials.
// https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow#refresh-the-access-token
export default async function refreshCredentials({ apiClient, credentials, connectorParameters }) {
  const tenant = connectorParameters?.tenant ?? 'common'
  const tokenUri = connectorParameters?.tokenUri ?? `https://login.microsoftonline.com/${encodeURIComponent(tenant)}/oauth2/v2.0/token`
  const form = {
    grant_type: 'refresh_token',
    refresh_token: credentials.refresh_token,
    client_id: connectorParameters?.clientId,
    client_secret: connectorParameters?.clientSecret,
    scope: 'offline_access Mail.Read',
  }
  const body = Object.entries(form)
    .filter(([, value]) => value !== undefined && value !== null)
    .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`)
    .join('&')
  const token = await apiClient.post(tokenUri, body, { headers: { 'Content-Type': 'application/x-www-form-urlencoded' } })
  return {
    access_token: token.access_token,
    refresh_token: token.refresh_token ?? credentials.refresh_token,
    expires_at: Date.now() + 1000 * (token.expires_in ?? 3600),
  }
}
