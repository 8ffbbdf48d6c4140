package web

import (
	"net/http"
	"strings"

	"linli/internal/fault"
)

// internalPage is the answer when even the page template failed: plain
// HTML in both languages, with nothing of the failure in it.
const internalPage = `<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>服务器内部错误 · Internal server error</title></head>
<body><main><h1>服务器内部错误</h1><p>请稍后重试。<a href="/">返回首页</a></p>
<h2 lang="en">Internal server error</h2><p lang="en">Please try again later. <a href="/">Back to home</a></p></main></body></html>
`

// InternalError answers a request that failed inside (the failure is
// logged by the caller): problem+json for the API, a plain page in both
// languages elsewhere.
func InternalError(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, apiRoot) {
		WriteProblem(w, r, fault.New("internal", M("服务器内部错误，请稍后重试", "internal server error, please try again later")))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", "zh-CN, en")
	w.WriteHeader(http.StatusInternalServerError)
	w.Write([]byte(internalPage))
}
