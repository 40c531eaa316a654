#pragma once

// An intrusive circular doubly-linked list, the shape of nginx's ngx_queue_t.
//
// A ListNode lives inside the object it links (an Event's timer and posted-queue
// nodes, a Connection's reusable-queue node), so linking and unlinking never
// allocate. A node that is not in any list points to itself; unlink() is idempotent.
// Not thread-safe: a list belongs to one thread (its event loop).

#include <cstddef>

namespace evs::core {

struct ListNode {
    ListNode* prev = this;
    ListNode* next = this;

    ListNode() = default;
    ListNode(const ListNode&) = delete;
    ListNode& operator=(const ListNode&) = delete;

    bool linked() const { return next != this; }

    void unlink() {
        prev->next = next;
        next->prev = prev;
        prev = next = this;
    }
};

// The head of a list. Empty when it points to itself.
class List {
public:
    List() = default;
    List(const List&) = delete;
    List& operator=(const List&) = delete;

    bool empty() const { return head_.next == &head_; }
    ListNode* front() { return head_.next; }
    ListNode* back() { return head_.prev; }
    const ListNode* end() const { return &head_; }
    ListNode* end() { return &head_; }

    void push_back(ListNode* node) {
        node->prev = head_.prev;
        node->next = &head_;
        head_.prev->next = node;
        head_.prev = node;
    }

    void push_front(ListNode* node) {
        node->next = head_.next;
        node->prev = &head_;
        head_.next->prev = node;
        head_.next = node;
    }

    // Moves every node of `other` to the end of this list; `other` becomes empty.
    void splice_back(List& other) {
        if (other.empty()) {
            return;
        }
        ListNode* first = other.head_.next;
        ListNode* last = other.head_.prev;
        first->prev = head_.prev;
        head_.prev->next = first;
        last->next = &head_;
        head_.prev = last;
        other.head_.next = other.head_.prev = &other.head_;
    }

    // Takes and returns the first node, or nullptr when empty.
    ListNode* pop_front() {
        if (empty()) {
            return nullptr;
        }
        ListNode* node = head_.next;
        node->unlink();
        return node;
    }

private:
    ListNode head_;
};

// The object of type T whose member at `offset` (offsetof(T, member)) is `node`.
// T must be standard-layout, which every intrusive holder in evserve is.
template <typename T>
T* owner_of(ListNode* node, std::size_t offset) {
    return reinterpret_cast<T*>(reinterpret_cast<char*>(node) - offset);
}

}  // namespace evs::core
