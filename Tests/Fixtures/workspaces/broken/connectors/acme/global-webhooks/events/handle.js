module.exports = async ({ data }) => ({ events: [] })
