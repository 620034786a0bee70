package manage

import (
	"net/url"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

// checkForm checks every name and value of a parsed form.
func checkForm(form url.Values) error {
	for k, vs := range form {
		if err := index.CheckText("name of a form field", k); err != nil {
			return err
		}
		for _, v := range vs {
			if err := index.CheckText("value of form field "+index.Repr(k), v); err != nil {
				return err
			}
		}
	}
	return nil
}
