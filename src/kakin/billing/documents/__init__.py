"""Customer documents of billing: qualified invoices (適格請求書) and credit notes
(適格返還請求書) as PDFs. `model` holds the plain data, `render` lays it out, `mapping`
builds it from stored rows, `text` writes dates, money and wording."""
