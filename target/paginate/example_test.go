package paginate_test

import (
	"fmt"
	"time"

	"github.com/goodput-dev/goodput/target/paginate"
)

// A rare filter over a large collection: each request examines at most
// the budget and hands back a token to continue.
func Example() {
	col := paginate.Collection{N: 1_000_000}
	f, err := paginate.ParseFilter("color=red,size>995")
	if err != nil {
		panic(err)
	}
	codec, err := paginate.NewCodec([]byte("example key, 16+ bytes"), time.Minute)
	if err != nil {
		panic(err)
	}
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

	page := col.Scan(f, 0, 10, 5_000)
	fmt.Println("found", len(page.Items), "scanned", page.Scanned, "partial", page.Partial)

	token := codec.Encode(paginate.Cursor{Position: page.Next, Filter: f.String()}, now)
	cur, err := codec.Decode(token, now.Add(30*time.Second))
	fmt.Println("continue at", cur.Position, err)

	_, err = codec.Decode(token, now.Add(2*time.Minute))
	fmt.Println(err)
	// Output:
	// found 4 scanned 5000 partial true
	// continue at 5000 <nil>
	// bad page token: expired
}
