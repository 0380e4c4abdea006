package synth

// Parquet row layouts. Optional string/number columns are null when the Go zero value is
// written (parquet-go's "optional" on non-pointer fields); pointers are used where zero is
// a valid value (children, survey value, truth probabilities and labels).

type contactRow struct {
	ContactID        string  `parquet:"contact_id"`
	CreatedAt        int64   `parquet:"created_at,timestamp(microsecond)"`
	Email            string  `parquet:"email"`
	Stage            string  `parquet:"stage,dict"`
	AccountType      string  `parquet:"account_type,dict"`
	Age              float64 `parquet:"age,optional"`
	Gender           string  `parquet:"gender,optional,dict"`
	Income           float64 `parquet:"income,optional"`
	Occupation       string  `parquet:"occupation,optional,dict"`
	MaritalStatus    string  `parquet:"marital_status,optional,dict"`
	Children         *int64  `parquet:"children,optional"`
	PostalCode       string  `parquet:"postal_code,optional"`
	CompanyIndustry  string  `parquet:"company_industry,optional,dict"`
	CompanyEmployees int64   `parquet:"company_employees,optional"`
	AnnualRevenue    float64 `parquet:"annual_revenue,optional"`
	JobRole          string  `parquet:"job_role,optional,dict"`
}

type eventRow struct {
	TS          int64    `parquet:"ts,timestamp(microsecond)"`
	Type        string   `parquet:"type,dict"`
	ContactID   string   `parquet:"contact_id,dict"`
	AnonymousID string   `parquet:"anonymous_id,optional,dict"`
	Email       string   `parquet:"email,optional,dict"`
	Page        string   `parquet:"page,optional,dict"`
	Channel     string   `parquet:"channel,optional,dict"`
	Campaign    string   `parquet:"campaign,optional,dict"`
	Value       *float64 `parquet:"value,optional"`
}

type txRow struct {
	ContactID string  `parquet:"contact_id,dict"`
	TS        int64   `parquet:"ts,timestamp(microsecond)"`
	Amount    float64 `parquet:"amount"`
	Product   string  `parquet:"product,dict"`
	Category  string  `parquet:"category,dict"`
	Quantity  int64   `parquet:"quantity"`
}

type identityRow struct {
	IDA string `parquet:"id_a"`
	IDB string `parquet:"id_b"`
	TS  int64  `parquet:"ts,timestamp(microsecond)"`
}

type truthRow struct {
	ContactID        string   `parquet:"contact_id"`
	Persona          int32    `parquet:"persona"`
	PersonaName      string   `parquet:"persona_name,dict"`
	PConvert         *float64 `parquet:"p_convert,optional"`
	Converted        *int32   `parquet:"converted,optional"`
	PChurn           *float64 `parquet:"p_churn,optional"`
	Churned          *int32   `parquet:"churned,optional"`
	Lambda           float64  `parquet:"lambda"`
	P                float64  `parquet:"p"`
	Nu               float64  `parquet:"nu"`
	SpendMean        float64  `parquet:"spend_mean"`
	Customer         bool     `parquet:"customer"`
	AliveAtAsOf      bool     `parquet:"alive_at_as_of"`
	FirstPurchaseAt  int64    `parquet:"first_purchase_at,optional,timestamp(microsecond)"`
	PurchasesBefore  int32    `parquet:"purchases_before"`
	PurchasesHorizon int32    `parquet:"purchases_horizon"`
	SpendHorizon     float64  `parquet:"spend_horizon"`
	NContacts        int32    `parquet:"n_contacts"`
	AnonymousID      string   `parquet:"anonymous_id,optional"`
}
