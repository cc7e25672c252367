// Newest updated first.
export default async function pullLatestRecords({ apiClient, cursor }) {
  const response = await apiClient.get(cursor ? cursor : '/tasks?order=updatedTime')
  return { records: response.records, cursor: response.next }
}
