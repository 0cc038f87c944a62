/** The orders a task list can be sorted in: by which field, in which direction. */

export const SORT_FIELDS = ["created_at", "updated_at", "due_datetime", "priority", "title"] as const
export type SortField = (typeof SORT_FIELDS)[number]
export const SORT_ORDERS = ["asc", "desc"] as const
export type SortOrder = (typeof SORT_ORDERS)[number]
