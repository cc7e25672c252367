// Custom pull (seed 004): follow nextPageLink until the API returns a deltaLink.
export default async function pull({ apiClient, state }) {
  const events = []
  let cursor = false
  let response
  while (true) {
    response = await apiClient.get(`${cursor ? cursor : state?.deltaLink}`)
    response.value.forEach((record) => {
      events.push({ type: 'created', record })
    })
    if (response.deltaLink) {
      break
    } else {
      cursor = response.nextPageLink
    }
  }
  return { events, state: { deltaLink: response.deltaLink } }
}
