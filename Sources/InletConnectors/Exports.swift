// JSONValue is the document type of every connector API; users of InletConnectors get it
// without importing InletJSON themselves.
@_exported import InletJSON
