package fault_test

import (
	"errors"
	"fmt"
	"testing"

	"linli/internal/fault"
)

func TestRefusalsKeepTheirCodeThroughWrapping(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err  *fault.Error
		code fault.Code
	}{
		{fault.Invalid(fault.M("坏", "bad"), fault.Field("name", fault.M("必填", "required"))), fault.CodeInvalid},
		{fault.NotFound(fault.M("无", "none")), fault.CodeNotFound},
		{fault.Conflict(fault.M("冲突", "clash")), fault.CodeConflict},
		{fault.Forbidden(fault.M("禁止", "no")), fault.CodeForbidden},
		{fault.Unprocessable(fault.M("不可用", "unusable")), fault.CodeUnprocessable},
	}
	for _, c := range cases {
		t.Run(string(c.code), func(t *testing.T) {
			wrapped := fmt.Errorf("saving: %w", c.err)
			got, ok := fault.As(wrapped)
			if !ok || got != c.err || !fault.Is(wrapped, c.code) {
				t.Fatalf("As(%v) = %v, %v; Is = %v", wrapped, got, ok, fault.Is(wrapped, c.code))
			}
		})
	}
	t.Run("a plain error is no refusal", func(t *testing.T) {
		if _, ok := fault.As(errors.New("disk full")); ok || fault.Is(errors.New("x"), fault.CodeInvalid) {
			t.Fatal("a plain error read as a refusal")
		}
	})
	t.Run("the message reads Chinese first, English after, and picks a language", func(t *testing.T) {
		e := fault.Invalid(fault.M("名称必填", "name is required"), fault.Field("name", fault.M("必填", "required")))
		if e.Error() != "名称必填 / name is required" || e.Msg.In("en") != "name is required" || e.Msg.In("zh") != "名称必填" {
			t.Fatalf("%q %q %q", e.Error(), e.Msg.In("en"), e.Msg.In("zh"))
		}
		if f := e.Fields[0]; f.Field != "name" || f.Message != "必填" || f.MessageEN != "required" {
			t.Fatalf("field %+v", f)
		}
	})
}
