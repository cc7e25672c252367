// Starts a delta query of the folder and follows it to its end, skipping the messages already
// there, so the first pull reports only what arrives afterwards.
// https://learn.microsoft.com/graph/delta-query-messages
const SELECT = 'subject,from,receivedDateTime,createdDateTime,bodyPreview,isRead'
const MAX_PAGES = 500

export default async function subscribe({ apiClient, parameters }) {
  const folder = encodeURIComponent(parameters.folderId ?? 'inbox')
  let next = `/me/mailFolders/${folder}/messages/delta?$select=${SELECT}`
  for (let page = 0; page < MAX_PAGES; page++) {
    const response = await apiClient.get(next)
    if (response['@odata.deltaLink']) {
      return { state: { deltaLink: response['@odata.deltaLink'], since: new Date().toISOString() } }
    }
    next = response['@odata.nextLink']
    if (!next) throw new Error('delta response has neither @odata.nextLink nor @odata.deltaLink')
  }
  throw new Error(`the folder's initial delta sync needs more than ${MAX_PAGES} pages`)
}
