"""Who may call each route of imports and jobs, as written here."""

from crm.deps import Access

P, S, W, A = Access.public, Access.signed_in, Access.writer, Access.admin

ACCESS = {
    ("GET", "/imports"): S,
    ("POST", "/imports"): W,
    ("GET", "/imports/uploads/{upload_id}"): W,
    ("POST", "/imports/uploads/{upload_id}/preview"): W,
    ("POST", "/imports/uploads/{upload_id}/start"): W,
    ("GET", "/imports/jobs/{job_id}"): S,
    ("GET", "/imports/jobs/{job_id}/rejections.csv"): S,
    ("POST", "/api/v1/imports"): W,
    ("GET", "/api/v1/imports"): S,
    ("GET", "/api/v1/imports/{job_id}"): S,
    ("GET", "/api/v1/imports/{job_id}/rejections"): S,
}
