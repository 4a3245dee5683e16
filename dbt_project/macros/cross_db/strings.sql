{#
    `expression` without the trailing `characters` (any of them, repeated), e.g. a path without its
    trailing slashes. DuckDB and PostgreSQL spell it rtrim(string, characters); Spark takes the
    characters first, rtrim(characters, string), and would silently trim the wrong way round.
#}
{% macro rtrim_characters(expression, characters) -%}
    {{ return(adapter.dispatch('rtrim_characters', 'impact_warehouse')(expression, characters)) }}
{%- endmacro %}

{% macro default__rtrim_characters(expression, characters) -%}
    rtrim({{ expression }}, {{ characters }})
{%- endmacro %}

{% macro spark__rtrim_characters(expression, characters) -%}
    rtrim({{ characters }}, {{ expression }})
{%- endmacro %}
