// Package table reads the tables users bring (CSV exports and Parquet files) into typed
// columns, deciding each column's type and reporting every decision.
//
// It is the one reader behind every command that reads a table: one CSV sniffer (delimiter,
// quotes, byte-order mark), one Parquet path (parquet-go), one error type (*Error: file,
// line, column, what was expected) and one column report.
//
// Usage, for a command that trains on a table:
//
//	t, err := table.Read(path, table.Options{
//		Keep:      []string{label, id},           // read as plain text, no inference
//		Overrides: map[string]table.Override{"Store": {As: table.AsCategorical}},
//	})
//	// t.Columns are numeric ([]float64, NaN = missing) or categorical ([]string, "" =
//	// missing); t.Report says, per column, the detected type, how it is used and the share
//	// missing. Print it with t.Report.WriteText(os.Stderr) and record it with the model.
//
// To score a table later exactly as it was read for training, pass the recorded report as
// Options.Recorded: the same parse rules are applied (decimal mark, stripped currency,
// date format and reference date), and a column that is missing or no longer parses as
// recorded is an *Error naming it.
//
// For readers of fixed columns (transactions: customer, time, amount) the primitives are
// exported: OpenCSV sniffs and opens a delimited file and yields records with their line
// numbers, and ParseNumber, ParseDate and IsMissing read single cells.
package table
