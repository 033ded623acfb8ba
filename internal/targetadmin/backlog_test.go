package targetadmin

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDeliverToAgainstTheTarget(t *testing.T) {
	ref := startTarget(t, "hunter2")
	ctx := context.Background()
	prev, err := ref.admin.DeliverTo(ctx, "http://127.0.0.1:9/deliveries")
	require.NoError(t, err)
	assert.Equal(t, "", prev, "the preset delivers nowhere")
	prev, err = ref.admin.DeliverTo(ctx, "")
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:9/deliveries", prev)

	_, err = ref.admin.DeliverTo(ctx, "ftp://nowhere")
	var apiErr *APIError
	require.True(t, errors.As(err, &apiErr), "%v", err)
	assert.Equal(t, http.StatusBadRequest, apiErr.Status)
	assert.Contains(t, apiErr.Msg, "deliver_to")

	noToken := &Client{BaseURL: ref.admin.BaseURL}
	_, err = noToken.DeliverTo(ctx, "http://127.0.0.1:9/")
	require.True(t, errors.As(err, &apiErr), "%v", err)
	assert.Equal(t, http.StatusUnauthorized, apiErr.Status)
}
