package waitlist

import (
	"slices"
	"testing"
)

type waiter struct {
	Elem[*waiter]
	id int
}

func newWaiter(id int) *waiter {
	w := &waiter{id: id}
	w.Value = w
	return w
}

func ids(l *List[*waiter]) []int {
	var out []int
	for e := l.Front(); e != nil; e = e.Next() {
		out = append(out, e.Value.id)
	}
	return out
}

func TestList(t *testing.T) {
	var l List[*waiter]
	ws := []*waiter{newWaiter(1), newWaiter(2), newWaiter(3), newWaiter(4)}
	for _, w := range ws {
		l.PushBack(&w.Elem)
	}
	if got := ids(&l); !slices.Equal(got, []int{1, 2, 3, 4}) || l.Len() != 4 {
		t.Fatalf("after pushes: %v, len %d", got, l.Len())
	}
	if !l.Remove(&ws[1].Elem) || l.Remove(&ws[1].Elem) {
		t.Fatal("Remove of a middle element twice: want true, then false")
	}
	if got := ids(&l); !slices.Equal(got, []int{1, 3, 4}) {
		t.Fatalf("after removing 2: %v", got)
	}
	if w := l.PopFront(); w.id != 1 {
		t.Fatalf("PopFront = %d, want 1", w.id)
	}
	if w := l.PopBack(); w.id != 4 {
		t.Fatalf("PopBack = %d, want 4", w.id)
	}
	if l.Front() != &ws[2].Elem || l.Back() != &ws[2].Elem || l.Len() != 1 {
		t.Fatalf("one left: front %v back %v len %d", l.Front(), l.Back(), l.Len())
	}
	if !l.Remove(&ws[2].Elem) || l.Front() != nil || l.Back() != nil || l.Len() != 0 {
		t.Fatal("removing the last element leaves a non-empty list")
	}
	l.PushBack(&ws[1].Elem) // an element removed before can be queued again
	if got := ids(&l); !slices.Equal(got, []int{2}) {
		t.Fatalf("re-queued: %v", got)
	}
}

func BenchmarkPushPop(b *testing.B) {
	var l List[*waiter]
	w := newWaiter(1)
	b.ReportAllocs()
	for b.Loop() {
		l.PushBack(&w.Elem)
		l.PopFront()
	}
}
