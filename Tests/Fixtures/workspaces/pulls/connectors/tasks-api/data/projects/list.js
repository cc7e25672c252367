export default async function list({ apiClient, cursor }) {
  const response = await apiClient.get(cursor ? cursor : '/projects')
  return { records: response.records, cursor: response.next }
}
