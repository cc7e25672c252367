// Newest created first, two per page; the API's own next-page link is the cursor.
export default async function pullLatestRecords({ apiClient, cursor }) {
  const response = await apiClient.get(cursor ? cursor : '/tasks?order=createdTime')
  return { records: response.records, cursor: response.next }
}
