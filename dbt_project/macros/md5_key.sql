{#
    Surrogate key: md5 of the given SQL expressions cast to text and joined with `separator`.
    pull_request_id = md5_key(["repository_full_name", "pull_request_number"], "'#'") gives
    md5(repo || '#' || number). Null parts are kept as the empty string so a key is never null.
#}
{% macro md5_key(expressions, separator="'|'") -%}
    {%- set parts = [] -%}
    {%- for expression in expressions -%}
        {%- do parts.append("coalesce(cast(" ~ expression ~ " as " ~ dbt.type_string() ~ "), '')") -%}
    {%- endfor -%}
    md5({{ parts | join(" || " ~ separator ~ " || ") }})
{%- endmacro %}
