package manage

import (
	"net/http"
	"net/url"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

// checkText refuses a value PostgreSQL could not store as text (a NUL
// byte, invalid UTF-8; it would answer SQLSTATE 22021, a 500), naming what
// it was, before anything reaches the store.
func checkText(what, s string) error {
	if p := index.TextProblem(s); p != "" {
		return index.Errorf(index.ErrInvalid, "The %s %s.", what, p)
	}
	return nil
}

// checkUserName checks the Basic credentials' user name before the
// authenticator looks it up.
func checkUserName(r *http.Request) error {
	if user, _, ok := r.BasicAuth(); ok {
		return checkText("user name in the credentials", user)
	}
	return nil
}

// checkForm checks every name and value of a parsed form.
func checkForm(form url.Values) error {
	for k, vs := range form {
		if err := checkText("name of a form field", k); err != nil {
			return err
		}
		for _, v := range vs {
			if err := checkText("value of form field "+index.Repr(k), v); err != nil {
				return err
			}
		}
	}
	return nil
}
