"""Customer documents of billing: qualified invoices (適格請求書) and credit notes
(適格返還請求書) as PDFs. `model` holds the plain data, `mapping` builds it from stored
rows, `record` freezes the parties an issued document shows (and reads them back),
`text` writes dates, money and wording, `render` lays documents out on the pages that
`page` provides (the embedded font, geometry, running header and footer)."""
