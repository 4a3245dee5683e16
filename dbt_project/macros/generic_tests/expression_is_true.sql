{#
    Fails for every row where `expression` is not true (null counts as a failure unless the test's
    `where` config filters such rows out). Usable on a model or on a column (the column is then unused).
#}
{% test expression_is_true(model, expression, column_name=None) %}

select *
from {{ model }}
where not coalesce(({{ expression }}), false)

{% endtest %}
